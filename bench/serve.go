package bench

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
)

// serveKeyID is the access key ID of the clients of a harness's server.
const serveKeyID = "benchclient"

// serveWait bounds how long a server may take to start serving, and to end
// once it is told to stop.
const serveWait = time.Minute

// serveProc is a "ctimport serve" process of the harness, listening on a
// free port of 127.0.0.1, with one access key.
type serveProc struct {
	cmd    *exec.Cmd
	url    string
	secret string
	log    *serveLog
	done   chan struct{} // closed once the process has ended and err is set
	err    error
}

// startServe starts ctimport serve over the database db, reading the
// MinIO server, with the flags added, and returns once it serves; stop
// must be called on the process it returns.
func (h *Harness) startServe(ctx context.Context, db string, flags ...string) (*serveProc, error) {
	p := &serveProc{secret: rand.Text(), log: &serveLog{ready: make(chan struct{})}, done: make(chan struct{})}
	creds := filepath.Join(h.work, h.name("credentials"))
	if err := os.WriteFile(creds, []byte(serveKeyID+" "+p.secret+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	args := append([]string{"--db", db, "serve", "--listen", "127.0.0.1:0", "--credentials-file", creds,
		"--s3-endpoint-url", h.Endpoint()}, flags...)
	p.cmd = exec.Command(h.ctimport, args...)
	p.cmd.Env = h.s3Env()
	p.cmd.Stderr = p.log
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: ctimport serve: %w", err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	timer := time.NewTimer(serveWait)
	defer timer.Stop()
	select {
	case <-p.log.ready:
		p.url = p.log.servingURL()
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("bench: ctimport serve ended before serving: %v\n%s", p.err, p.log.tail())
	case <-timer.C:
		p.stop()
		return nil, fmt.Errorf("bench: ctimport serve did not serve within %v\n%s", serveWait, p.log.tail())
	case <-ctx.Done():
		p.stop()
		return nil, fmt.Errorf("bench: ctimport serve: %w", ctx.Err())
	}
}

// stop ends the server with SIGTERM, as an operator would, and waits for
// it; it kills the server when it takes longer than serveWait.
func (p *serveProc) stop() error {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("bench: stop ctimport serve: %w", err)
	}
	timer := time.NewTimer(serveWait)
	defer timer.Stop()
	select {
	case <-p.done:
	case <-timer.C:
		p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("bench: ctimport serve did not end within %v of SIGTERM\n%s", serveWait, p.log.tail())
	}
	if p.err != nil {
		return fmt.Errorf("bench: ctimport serve: %w\n%s", p.err, p.log.tail())
	}
	return nil
}

// client returns a CloudTrail client of the AWS SDK for the server,
// signing with its key, with the SDK's standard retryer, and then optFns;
// a nil httpClient is the SDK's own.
func (p *serveProc) client(httpClient cloudtrail.HTTPClient, optFns ...func(*cloudtrail.Options)) *cloudtrail.Client {
	return cloudtrail.New(cloudtrail.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(p.url),
		Credentials:  credentials.NewStaticCredentialsProvider(serveKeyID, p.secret, ""),
		HTTPClient:   httpClient,
	}, optFns...)
}

// servingLine is the line of the server's text log that tells where it
// serves; the blank after the URL tells that the URL is whole.
var servingLine = regexp.MustCompile(`msg=serving url=(\S+) `)

// serveLogKeep is how much of the end of a server's log is kept.
const serveLogKeep = 16 << 10

// serveLog is the standard error of a server. It keeps the end of the log
// and closes ready once the log has told where the server serves.
type serveLog struct {
	mu    sync.Mutex
	b     []byte
	url   string
	ready chan struct{}
}

func (l *serveLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	if l.url == "" {
		if m := servingLine.FindSubmatch(l.b); m != nil {
			l.url = string(m[1])
			close(l.ready)
		}
	}
	if len(l.b) > 2*serveLogKeep {
		l.b = append(l.b[:0], l.b[len(l.b)-serveLogKeep:]...)
	}
	return len(p), nil
}

func (l *serveLog) servingURL() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.url
}

// tail returns the end of the log.
func (l *serveLog) tail() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return tail(l.b)
}
