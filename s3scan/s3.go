package s3scan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// pageSize is the most keys one list request asks for.
const pageSize = 1000

// S3Config says which bucket NewS3 reads and how to reach it.
type S3Config struct {
	// Bucket is the bucket name.
	Bucket string
	// Region is the bucket's region. "" lets NewS3 ask AWS S3 for it, and
	// means "us-east-1" with a custom endpoint.
	Region string
	// Endpoint is the URL of an S3-compatible service, such as
	// "http://127.0.0.1:9000" for a local MinIO. "" takes the environment
	// variable AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL, and else AWS S3.
	// Custom endpoints are addressed path-style, over TLS when the URL is
	// https.
	Endpoint string
	// RoleARN is an IAM role to read the bucket as; "" reads it with the
	// credentials NewS3 finds.
	RoleARN string
	// Transport carries the HTTP requests; nil means a default transport.
	Transport http.RoundTripper
}

// NewS3 returns a Source reading the bucket of cfg. It signs requests with
// the first credentials it finds, in the order of the AWS SDKs:
//
//  1. the environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
//     AWS_SESSION_TOKEN;
//  2. the profile AWS_PROFILE (else "default") of the shared credentials
//     file (AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials) and the
//     config file (AWS_CONFIG_FILE, else ~/.aws/config): static keys,
//     credential_process or a cached AWS SSO login;
//  3. web identity, ECS or EKS container credentials, or the EC2 instance
//     metadata service (AWS_EC2_METADATA_SERVICE_ENDPOINT, else the
//     link-local address), unless AWS_EC2_METADATA_DISABLED is "true".
//
// With none of them it sends anonymous requests. A profile named by
// AWS_PROFILE that cannot be used is an error rather than a fall-through.
//
// With a RoleARN, NewS3 assumes the role with STS AssumeRole signed with
// those credentials, at the custom endpoint (MinIO serves STS there) or
// else at the AWS STS endpoint of the region (us-east-1 when Region is
// ""), and signs requests with the role's credentials, which last an hour
// and are assumed again before they expire. Failures to assume the role
// wrap ErrAssumeRole.
//
// NewS3 checks that the bucket exists: a missing bucket is ErrNoBucket,
// one the credentials may not read ErrAccessDenied, and an endpoint that
// cannot be reached an error wrapping ErrTransient.
//
// Each call of the source makes one request; a failed request is not
// repeated, so that callers keep one retry policy for every source.
func NewS3(ctx context.Context, cfg S3Config) (Source, error) {
	if err := checkBucketName(cfg.Bucket); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadURI, err)
	}
	ep, err := resolveEndpoint(cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	creds, origin, err := findCredentials(ctx)
	if err != nil {
		return nil, err
	}
	if cfg.RoleARN != "" {
		sts, region := stsEndpoint(ep, cfg.Region)
		creds = newRoleCredentials(creds, sts, region, cfg.RoleARN, time.Now)
	}
	s := &s3Source{
		bucket: cfg.Bucket,
		ep:     ep,
		region: cfg.Region,
		creds:  creds,
		rt:     cfg.Transport,
	}
	if s.region == "" && ep.custom {
		s.region = "us-east-1"
	}
	if s.rt == nil {
		if s.rt, err = minio.DefaultTransport(ep.secure); err != nil {
			return nil, fmt.Errorf("s3scan: %w", err)
		}
	}
	if s.core, err = s.newCore(s.rt); err != nil {
		return nil, err
	}

	name := "s3://" + cfg.Bucket
	if s.region == "" {
		if s.region, err = s.core.GetBucketLocation(ctx, cfg.Bucket); err != nil {
			return nil, fmt.Errorf("%w (endpoint %s)", s.fail(ctx, "locate bucket", name, err), ep.display)
		}
		if s.core, err = s.newCore(s.rt); err != nil {
			return nil, err
		}
	}
	err = s.checkBucket(ctx)
	var er minio.ErrorResponse
	if errors.As(err, &er) && !ep.custom && cfg.Region == "" && er.Region != "" && er.Region != s.region {
		// The location answer was wrong (anonymous requests get none);
		// AWS names the bucket's region in its refusal.
		s.region = er.Region
		if s.core, err = s.newCore(s.rt); err != nil {
			return nil, err
		}
		err = s.checkBucket(ctx)
	}
	if err != nil {
		err = s.fail(ctx, "open bucket", name, err)
		if errors.Is(err, ErrAccessDenied) {
			if cfg.RoleARN != "" && !errors.Is(err, ErrAssumeRole) {
				origin = "role " + cfg.RoleARN + ", assumed with " + origin
			}
			return nil, fmt.Errorf("%w (%s; endpoint %s)", err, origin, ep.display)
		}
		return nil, fmt.Errorf("%w (endpoint %s)", err, ep.display)
	}
	return s, nil
}

// checkBucket makes sure the bucket exists.
func (s *s3Source) checkBucket(ctx context.Context) error {
	ok, err := s.core.BucketExists(ctx, s.bucket)
	if err == nil && !ok {
		err = minio.ErrorResponse{Code: minio.NoSuchBucket, Message: "The specified bucket does not exist", StatusCode: http.StatusNotFound}
	}
	return err
}

type s3Source struct {
	bucket string
	ep     endpoint
	region string // "" only until NewS3 has found it
	creds  *credentials.Credentials
	rt     http.RoundTripper
	core   *minio.Core
}

// endpoint is where requests go.
type endpoint struct {
	host    string // host[:port] for minio.New
	secure  bool
	custom  bool   // not AWS S3
	display string // scheme://host[:port], for messages
}

func resolveEndpoint(configured string) (endpoint, error) {
	raw, from := configured, "endpoint"
	for _, env := range []string{"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"} {
		if raw != "" {
			break
		}
		raw, from = os.Getenv(env), env
	}
	if raw == "" {
		return endpoint{host: "s3.amazonaws.com", secure: true, display: "https://s3.amazonaws.com"}, nil
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return endpoint{}, fmt.Errorf("s3scan: %s is not a URL", from)
	case u.User != nil:
		return endpoint{}, fmt.Errorf("s3scan: %s must not hold credentials", from)
	case u.Scheme != "http" && u.Scheme != "https":
		return endpoint{}, fmt.Errorf("s3scan: %s %q must be an http:// or https:// URL", from, raw)
	case u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "":
		return endpoint{}, fmt.Errorf("s3scan: %s %q must be scheme://host[:port] without a path", from, raw)
	}
	return endpoint{host: u.Host, secure: u.Scheme == "https", custom: true, display: u.Scheme + "://" + u.Host}, nil
}

// newCore returns a client sending requests through rt.
func (s *s3Source) newCore(rt http.RoundTripper) (*minio.Core, error) {
	lookup := minio.BucketLookupAuto
	if s.ep.custom {
		lookup = minio.BucketLookupPath
	}
	c, err := minio.NewCore(s.ep.host, &minio.Options{
		Creds:        s.creds,
		Secure:       s.ep.secure,
		Transport:    rt,
		Region:       s.region,
		BucketLookup: lookup,
		MaxRetries:   1,
	})
	if err != nil {
		return nil, fmt.Errorf("s3scan: endpoint %s: %w", s.ep.display, err)
	}
	return c, nil
}

// List makes one ListObjectsV2 request with delimiter "/" for at most 1000
// keys.
func (s *s3Source) List(ctx context.Context, prefix, token string) (Page, error) {
	if err := ctx.Err(); err != nil {
		return Page{}, s.fail(ctx, "list", s.keyName(prefix), err)
	}
	// minio.Core's ListObjectsV2 takes no context; a client of its own
	// whose transport carries ctx lets cancellation reach the request.
	core, err := s.newCore(ctxTransport{ctx: ctx, rt: s.rt})
	if err != nil {
		return Page{}, err
	}
	res, err := core.ListObjectsV2(s.bucket, prefix, "", token, "/", pageSize)
	if err != nil {
		return Page{}, s.fail(ctx, "list", s.keyName(prefix), err)
	}
	p := Page{
		Objects:  make([]Object, 0, len(res.Contents)),
		Prefixes: make([]string, 0, len(res.CommonPrefixes)),
	}
	for _, o := range res.Contents {
		p.Objects = append(p.Objects, Object{Key: o.Key, Size: o.Size, ETag: trimETag(o.ETag), LastModified: o.LastModified})
	}
	for _, cp := range res.CommonPrefixes {
		p.Prefixes = append(p.Prefixes, cp.Prefix)
	}
	if res.IsTruncated {
		p.Next = res.NextContinuationToken
	}
	return p, nil
}

// Open sends the GET request of key and returns its body.
func (s *s3Source) Open(ctx context.Context, key string) (io.ReadCloser, Object, error) {
	body, info, _, err := s.core.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, Object{}, s.fail(ctx, "get", s.keyName(key), err)
	}
	obj := Object{Key: key, Size: info.Size, ETag: trimETag(info.ETag), LastModified: info.LastModified}
	return &s3Body{ctx: ctx, name: s.keyName(key), body: body}, obj, nil
}

func (s *s3Source) String() string {
	if s.ep.custom {
		return fmt.Sprintf("s3://%s (endpoint %s)", s.bucket, s.ep.display)
	}
	return fmt.Sprintf("s3://%s (endpoint %s, region %s)", s.bucket, s.ep.display, s.region)
}

func (s *s3Source) keyName(key string) string {
	return "s3://" + s.bucket + "/" + key
}

// fail turns err of op on name into an s3scan error.
func (s *s3Source) fail(ctx context.Context, op, name string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return &opError{op: op, name: name, err: cerr}
	}
	return &opError{op: op, name: name, kind: classify(err, op == "get"), err: err}
}

// s3Body is an object's body; read errors name the object and, unless the
// caller's context ended, wrap ErrTransient.
type s3Body struct {
	ctx  context.Context
	name string
	body io.ReadCloser
}

func (b *s3Body) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	if err != nil && err != io.EOF {
		if cerr := b.ctx.Err(); cerr != nil {
			err = &opError{op: "read", name: b.name, err: cerr}
		} else {
			err = &opError{op: "read", name: b.name, kind: ErrTransient, err: err}
		}
	}
	return n, err
}

func (b *s3Body) Close() error {
	return b.body.Close()
}

// ctxTransport sends requests under its context instead of theirs.
type ctxTransport struct {
	ctx context.Context
	rt  http.RoundTripper
}

func (t ctxTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return t.rt.RoundTrip(r.WithContext(t.ctx))
}

func trimETag(etag string) string {
	return strings.Trim(etag, `"`)
}
