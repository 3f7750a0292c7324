package server_test

import (
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/ctimport/ctimport/internal/sigv4"
	"github.com/ctimport/ctimport/server"
)

func writeKeys(t *testing.T, content string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadCredentials(t *testing.T) {
	path := writeKeys(t, "# keys of the server\n\n"+
		"AKIDEXAMPLE wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\n"+
		"  \t# indented comment\r\n"+
		"ci-bot@example.com\t  s3cr3t!-with~symbols  read\r\n"+
		"abc 12345678 admin", 0o600)
	got, roles, err := server.LoadCredentials(path)
	if err != nil {
		t.Fatal(err)
	}
	want := sigv4.Keys{
		"AKIDEXAMPLE":        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
		"ci-bot@example.com": "s3cr3t!-with~symbols",
		"abc":                "12345678",
	}
	if !maps.Equal(got, want) {
		t.Errorf("LoadCredentials = %v, want %v", got, want)
	}
	wantRoles := map[string]server.Role{"AKIDEXAMPLE": server.RoleAdmin, "ci-bot@example.com": server.RoleRead, "abc": server.RoleAdmin}
	if !maps.Equal(roles, wantRoles) {
		t.Errorf("LoadCredentials roles = %v, want %v", roles, wantRoles)
	}
}

func TestLoadCredentialsRefusals(t *testing.T) {
	const secret = "SuperSecretValue123"
	tests := []struct {
		name    string
		content string
		mode    os.FileMode
		want    string
	}{
		{name: "readable by others", content: "AKIDEXAMPLE " + secret + "\n", mode: 0o644, want: "chmod 600"},
		{name: "writable by group", content: "AKIDEXAMPLE " + secret + "\n", mode: 0o620, want: "chmod 600"},
		{name: "one field", content: "# c\nAKIDEXAMPLE" + secret + "\n", want: ":2: want ACCESS_KEY_ID, SECRET_ACCESS_KEY and maybe a role"},
		{name: "four fields", content: "\nAKIDEXAMPLE " + secret + " read extra\n", want: ":2: want ACCESS_KEY_ID, SECRET_ACCESS_KEY and maybe a role"},
		{name: "unknown role", content: "AKIDEXAMPLE " + secret + " writer\n", want: ":1: the role must be admin or read"},
		{name: "bad access key ID", content: "AKID/EXAMPLE " + secret + "\n", want: ":1: an access key ID must be"},
		{name: "short access key ID", content: "AK " + secret + "\n", want: ":1: an access key ID must be"},
		{name: "short secret", content: "AKIDEXAMPLE 1234567\n", want: ":1: a secret access key must be"},
		{name: "long secret", content: "AKIDEXAMPLE " + strings.Repeat("s", 129) + "\n", want: ":1: a secret access key must be"},
		{name: "non-ASCII secret", content: "AKIDEXAMPLE " + secret + "é\n", want: ":1: a secret access key must be"},
		{name: "control character", content: "AKIDEXAMPLE " + secret + "\x00\n", want: ":1: a secret access key must be"},
		{name: "duplicate", content: "AKIDEXAMPLE " + secret + "\n#\nAKIDEXAMPLE otherSecret1\n", want: ":3: access key ID AKIDEXAMPLE is also on line 1"},
		{name: "empty", content: "", want: "no keys"},
		{name: "only comments", content: "# AKIDEXAMPLE " + secret + "\n\n", want: "no keys"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.mode != 0 && runtime.GOOS == "windows" {
				t.Skip("file modes are not checked on Windows")
			}
			mode := tt.mode
			if mode == 0 {
				mode = 0o600
			}
			path := writeKeys(t, tt.content, mode)
			keys, _, err := server.LoadCredentials(path)
			if err == nil {
				t.Fatalf("LoadCredentials = %v, want an error", keys)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "server: "+path) || !strings.Contains(msg, tt.want) {
				t.Errorf("LoadCredentials: %q, want %q", msg, tt.want)
			}
			if strings.Contains(msg, secret) || strings.Contains(msg, "1234567") {
				t.Errorf("LoadCredentials: %q repeats a secret", msg)
			}
		})
	}
}

func TestLoadCredentialsMissingFile(t *testing.T) {
	_, _, err := server.LoadCredentials(filepath.Join(t.TempDir(), "none"))
	if !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "server: ") {
		t.Errorf("LoadCredentials = %v, want an error wrapping fs.ErrNotExist", err)
	}
}
