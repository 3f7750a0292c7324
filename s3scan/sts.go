package s3scan

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/minio/minio-go/v7/pkg/credentials"
)

// roleDuration is how long the credentials of an assumed role last. They
// are assumed again once 80% of it has passed, before they expire.
const roleDuration = time.Hour

// assumeTimeout bounds one assumption of the role: the base credentials,
// then the AssumeRole request.
const assumeTimeout = 30 * time.Second

// errNoKeys means the chain found no credentials to assume a role with.
var errNoKeys = errors.New("no credentials found to assume it with")

// stsTransient are the STS error codes of answers that may change on retry.
var stsTransient = map[string]bool{
	"Throttling":                 true,
	"ThrottlingException":        true,
	"RequestLimitExceeded":       true,
	"ServiceUnavailable":         true,
	"InternalError":              true,
	"InternalFailure":            true,
	"XMinioServerNotInitialized": true,
}

// roleProvider assumes a role with STS AssumeRole, signed with base
// credentials, and gives the role's temporary credentials; wrapped in
// credentials.New, it assumes the role again when they near their expiry.
type roleProvider struct {
	credentials.Expiry
	base     *credentials.Credentials
	endpoint string // of STS: scheme://host[:port]
	region   string // of the STS signature
	role     string
	session  string
}

// newRoleCredentials returns the credentials of role, assumed from base at
// the STS endpoint, which signatures address as region; now tells the time
// for their expiry.
func newRoleCredentials(base *credentials.Credentials, endpoint, region, role string, now func() time.Time) *credentials.Credentials {
	b := make([]byte, 4)
	rand.Read(b)
	return credentials.New(&roleProvider{
		Expiry:   credentials.Expiry{CurrentTime: now},
		base:     base,
		endpoint: endpoint,
		region:   region,
		role:     role,
		session:  "ctimport-" + hex.EncodeToString(b),
	})
}

// stsEndpoint returns where the role of a source at ep is assumed, and the
// region of the signature: the S3 endpoint itself when it is a custom one,
// as MinIO serves STS there, else the regional AWS STS endpoint of region,
// us-east-1 when region is "".
func stsEndpoint(ep endpoint, region string) (string, string) {
	if region == "" {
		region = "us-east-1"
	}
	if ep.custom {
		return ep.display, region
	}
	domain := "amazonaws.com"
	if strings.HasPrefix(region, "cn-") {
		domain += ".cn"
	}
	return "https://sts." + region + "." + domain, region
}

// RetrieveWithCredContext gets the base credentials and assumes the role
// with them.
func (p *roleProvider) RetrieveWithCredContext(cc *credentials.CredContext) (credentials.Value, error) {
	c := credentials.CredContext{Client: http.DefaultClient}
	if cc != nil {
		c = *cc
	}
	parent := c.Context
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithTimeout(parent, assumeTimeout)
	defer cancel()
	c.Context = ctx

	base, err := p.base.GetWithContext(&c)
	if err != nil {
		return credentials.Value{}, &roleError{role: p.role, err: err}
	}
	if base.AccessKeyID == "" || base.SecretAccessKey == "" {
		return credentials.Value{}, &roleError{role: p.role, err: errNoKeys}
	}
	sts := &credentials.STSAssumeRole{
		STSEndpoint: p.endpoint,
		Options: credentials.STSAssumeRoleOptions{
			AccessKey:       base.AccessKeyID,
			SecretKey:       base.SecretAccessKey,
			SessionToken:    base.SessionToken,
			Location:        p.region,
			DurationSeconds: int(roleDuration / time.Second),
			RoleARN:         p.role,
			RoleSessionName: p.session,
		},
	}
	v, err := sts.RetrieveWithCredContext(&c)
	if err != nil {
		return credentials.Value{}, &roleError{role: p.role, err: err}
	}
	p.SetExpiration(v.Expiration, credentials.DefaultExpiryWindow)
	return v, nil
}

// Retrieve is RetrieveWithCredContext with the default HTTP client.
func (p *roleProvider) Retrieve() (credentials.Value, error) {
	return p.RetrieveWithCredContext(nil)
}

// roleError is a failure to assume a role. Its text names the role and
// what STS answered, never the keys.
type roleError struct {
	role string
	err  error
}

func (e *roleError) Error() string {
	return "cannot assume role " + e.role + ": " + detail(e.err)
}

func (e *roleError) Unwrap() []error { return []error{ErrAssumeRole, e.err} }

// kind is the sentinel error of the failure: ErrTransient when assuming
// the role again may succeed, ErrAccessDenied when STS refused it, or nil.
func (e *roleError) kind() error {
	var er credentials.ErrorResponse
	switch {
	case errors.Is(e.err, errNoKeys):
		return ErrAccessDenied
	case errors.As(e.err, &er) && stsTransient[er.STSError.Code]:
		return ErrTransient
	case errors.As(e.err, &er):
		return ErrAccessDenied
	case transientNet(e.err):
		return ErrTransient
	}
	return nil
}
