package sigv4

import (
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
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

func TestLoadKeys(t *testing.T) {
	path := writeKeys(t, "# keys of the server\n\n"+
		"AKIDEXAMPLE wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\n"+
		"  \t# indented comment\r\n"+
		"ci-bot@example.com\t  s3cr3t!-with~symbols  \r\n"+
		"abc 12345678", 0o600)
	got, err := LoadKeys(path)
	if err != nil {
		t.Fatal(err)
	}
	want := Keys{
		"AKIDEXAMPLE":        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
		"ci-bot@example.com": "s3cr3t!-with~symbols",
		"abc":                "12345678",
	}
	if !maps.Equal(got, want) {
		t.Errorf("LoadKeys = %v, want %v", got, want)
	}
}

func TestLoadKeysRefusals(t *testing.T) {
	const secret = "SuperSecretValue123"
	tests := []struct {
		name    string
		content string
		mode    os.FileMode
		want    string
	}{
		{name: "readable by others", content: "AKIDEXAMPLE " + secret + "\n", mode: 0o644, want: "chmod 600"},
		{name: "writable by group", content: "AKIDEXAMPLE " + secret + "\n", mode: 0o620, want: "chmod 600"},
		{name: "one field", content: "# c\nAKIDEXAMPLE" + secret + "\n", want: ":2: want ACCESS_KEY_ID and SECRET_ACCESS_KEY"},
		{name: "three fields", content: "\nAKIDEXAMPLE " + secret + " extra\n", want: ":2: want ACCESS_KEY_ID and SECRET_ACCESS_KEY"},
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
			keys, err := LoadKeys(path)
			if err == nil {
				t.Fatalf("LoadKeys = %v, want an error", keys)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "sigv4: "+path) || !strings.Contains(msg, tt.want) {
				t.Errorf("LoadKeys: %q, want %q", msg, tt.want)
			}
			if strings.Contains(msg, secret) || strings.Contains(msg, "1234567") {
				t.Errorf("LoadKeys: %q repeats a secret", msg)
			}
		})
	}
}

func TestLoadKeysMissingFile(t *testing.T) {
	_, err := LoadKeys(filepath.Join(t.TempDir(), "none"))
	if !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "sigv4: ") {
		t.Errorf("LoadKeys = %v, want an error wrapping fs.ErrNotExist", err)
	}
}
