//go:build !unix

package pgtest

import "os/exec"

// account is a user the server's processes run as; only unix systems have
// a root that PostgreSQL refuses.
type account struct {
	uid, gid int
}

func serverAccount() (*account, error) { return nil, nil }

func (a *account) runAs(*exec.Cmd) {}
