// Package testproc holds what the real servers that tests start
// (internal/miniotest, internal/pgtest) share: one run of a server binary
// at a time, its output, a server shared by a package's tests, free ports
// and unique names.
package testproc

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"os/exec"
	"sync"
	"time"
)

// Process is one run of a server binary.
type Process struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once cmd.Wait has returned
	err    error         // of cmd.Wait, set before exited is closed
}

// Exited is closed once the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Err returns how the process exited; it is valid once Exited is closed.
func (p *Process) Err() error { return p.err }

// Runner holds the running process of a server, if any. Its methods are
// safe for concurrent use.
type Runner struct {
	mu  sync.Mutex
	cur *Process // nil when stopped
}

// Start starts cmd, which must not be started, as the server's process.
// A goroutine waits for it, so that Exited tells when it ends.
func (r *Runner) Start(cmd *exec.Cmd) (*Process, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Process{cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	r.mu.Lock()
	r.cur = p
	r.mu.Unlock()
	return p, nil
}

// Pid returns the process ID of the running process, or 0 when there is
// none.
func (r *Runner) Pid() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cur == nil {
		return 0
	}
	return r.cur.cmd.Process.Pid
}

// Stop ends the running process and waits for it to exit: with a grace
// of 0 it kills it, as a crash would; otherwise it interrupts it and kills
// it when it has not exited after grace. Stopping a stopped server does
// nothing.
func (r *Runner) Stop(grace time.Duration) {
	r.mu.Lock()
	p := r.cur
	r.cur = nil
	r.mu.Unlock()
	if p == nil {
		return
	}
	if grace == 0 || p.cmd.Process.Signal(os.Interrupt) != nil {
		p.cmd.Process.Kill()
		<-p.exited
		return
	}
	select {
	case <-p.exited:
	case <-time.After(grace):
		p.cmd.Process.Kill()
		<-p.exited
	}
}

// Shared is a server that a package's tests share: started on first use,
// stopped once by the package's TestMain. Its methods are safe for
// concurrent use.
type Shared[S any] struct {
	mu      sync.Mutex
	started bool
	srv     S
	err     error
}

// Get returns the shared server, calling start on first use; a failed
// start is not tried again.
func (s *Shared[S]) Get(start func() (S, error)) (S, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		s.started = true
		s.srv, s.err = start()
	}
	return s.srv, s.err
}

// Stop calls stop with the shared server, if one was started, and
// forgets it.
func (s *Shared[S]) Stop(stop func(S)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started && s.err == nil {
		stop(s.srv)
	}
	var zero S
	s.started, s.srv, s.err = false, zero, nil
}

// FreeAddr returns a 127.0.0.1:port address that no socket used when it
// was asked; another process may take it before the caller binds it.
func FreeAddr() (*net.TCPAddr, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr), nil
}

// RandomHex returns n random bytes in hex.
func RandomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Log collects a server's output.
type Log struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *Log) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Len returns how many bytes were written.
func (b *Log) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

// From returns the output from byte off on.
func (b *Log) From(off int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf.Bytes()[off:])
}

// Tail returns the last few hundred bytes.
func (b *Log) Tail() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	data := b.buf.Bytes()
	return string(data[max(0, len(data)-500):])
}
