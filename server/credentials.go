package server

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"strings"

	"github.com/ctimport/ctimport/internal/sigv4"
)

var accessKeyIDPattern = regexp.MustCompile(`^[A-Za-z0-9_+=,.@-]{3,128}$`)

// LoadCredentials reads a credentials file: one key per line,
// "ACCESS_KEY_ID SECRET_ACCESS_KEY [ROLE]" separated by blanks, where ROLE
// is admin (the default) or read; blank lines and lines starting with # are
// ignored. Access key IDs must match ^[A-Za-z0-9_+=,.@-]{3,128}$ and
// secrets must be 8 to 128 bytes of printable ASCII without spaces. It
// returns the keys and the role of each.
//
// It refuses, on Unix, a file that others than its owner can read or write; a
// malformed line, naming its number but never repeating it, since it holds a
// secret; an access key ID given twice; and a file without keys.
func LoadCredentials(path string) (sigv4.Keys, map[string]Role, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("server: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("server: %w", err)
	}
	if mode := info.Mode().Perm(); runtime.GOOS != "windows" && mode&0o077 != 0 {
		return nil, nil, fmt.Errorf("server: %s: others than its owner can access it (mode %04o): chmod 600 it", path, mode)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, nil, fmt.Errorf("server: %w", err)
	}

	keys := make(sigv4.Keys)
	roles := make(map[string]Role)
	lines := make(map[string]int)
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 2 && len(fields) != 3 {
			return nil, nil, fmt.Errorf("server: %s:%d: want ACCESS_KEY_ID, SECRET_ACCESS_KEY and maybe a role, separated by blanks", path, n)
		}
		id, secret, role := fields[0], fields[1], RoleAdmin
		if len(fields) == 3 {
			role = Role(fields[2])
			if role != RoleAdmin && role != RoleRead {
				return nil, nil, fmt.Errorf("server: %s:%d: the role must be %s or %s", path, n, RoleAdmin, RoleRead)
			}
		}
		if !accessKeyIDPattern.MatchString(id) {
			return nil, nil, fmt.Errorf("server: %s:%d: an access key ID must be 3 to 128 of A-Z a-z 0-9 _+=,.@-", path, n)
		}
		if !validSecret(secret) {
			return nil, nil, fmt.Errorf("server: %s:%d: a secret access key must be 8 to 128 printable ASCII characters without spaces", path, n)
		}
		if first, ok := lines[id]; ok {
			return nil, nil, fmt.Errorf("server: %s:%d: access key ID %s is also on line %d", path, n, id, first)
		}
		lines[id] = n
		keys[id] = secret
		roles[id] = role
	}
	if len(keys) == 0 {
		return nil, nil, fmt.Errorf("server: %s: no keys", path)
	}
	return keys, roles, nil
}

func validSecret(s string) bool {
	if len(s) < 8 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
