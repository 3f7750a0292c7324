package s3scan

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/minio/minio-go/v7/pkg/credentials"
)

// findCredentials resolves the credential chain documented on NewS3 once,
// and returns the credentials with a description of where they came from.
//
// minio-go's own Chain is not used: it drops the errors of its providers,
// so a broken profile would silently become anonymous access, and after
// finding nothing it asks the instance metadata service again on every
// request.
func findCredentials(ctx context.Context) (*credentials.Credentials, string, error) {
	if c, origin, err := envCredentials(); c != nil || err != nil {
		return c, origin, err
	}
	if c, origin, err := profileCredentials(ctx); c != nil || err != nil {
		return c, origin, err
	}
	if c, origin, err := metadataCredentials(ctx); c != nil || err != nil {
		return c, origin, err
	}
	return credentials.NewStatic("", "", "", credentials.SignatureAnonymous), "no credentials found, so anonymous requests", nil
}

func envCredentials() (*credentials.Credentials, string, error) {
	id, idVar := firstEnv("AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY")
	secret, secretVar := firstEnv("AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY")
	switch {
	case id != "" && secret != "":
		return credentials.NewEnvAWS(), "credentials from the environment", nil
	case id != "":
		return nil, "", fmt.Errorf("s3scan: %s is set but AWS_SECRET_ACCESS_KEY is not", idVar)
	case secret != "":
		return nil, "", fmt.Errorf("s3scan: %s is set but AWS_ACCESS_KEY_ID is not", secretVar)
	}
	return nil, "", nil
}

// firstEnv returns the first of the variables that is set, and its name.
func firstEnv(names ...string) (string, string) {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v, n
		}
	}
	return "", ""
}

// profileCredentials reads the profile of the shared credentials and
// config files. minio-go merges the two files the way the AWS SDKs do,
// including static keys in "[profile name]" sections of the config file.
func profileCredentials(ctx context.Context) (*credentials.Credentials, string, error) {
	profile := os.Getenv("AWS_PROFILE")
	named := profile != ""
	if !named {
		profile = "default"
	}
	p := &credentials.FileAWSCredentials{Profile: profile}
	v, err := p.RetrieveWithCredContext(&credentials.CredContext{Client: metadataClient, Context: ctx})
	origin := fmt.Sprintf("credentials of profile %q", profile)
	switch {
	case err == nil && v.AccessKeyID != "" && v.SecretAccessKey != "":
		return credentials.New(p), origin, nil
	case err == nil:
		if named {
			return nil, "", fmt.Errorf("s3scan: profile %q has no access keys, credential_process or AWS SSO settings", profile)
		}
		return nil, "", nil
	case errors.Is(err, fs.ErrNotExist) || strings.Contains(err.Error(), "does not exist"):
		if named {
			return nil, "", fmt.Errorf("s3scan: profile %q is not in the shared config or credentials file", profile)
		}
		return nil, "", nil
	}
	return nil, "", fmt.Errorf("s3scan: profile %q: %s", profile, profileError(err))
}

// profileError describes an error of the profile files without quoting
// their lines: the ini parser's messages repeat the offending line, which
// may hold a secret key.
func profileError(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return err.Error()
	}
	msg := err.Error()
	for _, p := range []string{"key-value delimiter not found", "empty key name", "unclosed section", "missing closing key quote", "BOM"} {
		if strings.HasPrefix(msg, p) {
			return "the shared config or credentials file is not valid: " + p
		}
	}
	return msg
}

// metadataClient asks metadata services, which answer at once when they
// exist; it gives up quickly when they do not.
var metadataClient = &http.Client{
	Timeout: 10 * time.Second,
	Transport: &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
		TLSHandshakeTimeout: 5 * time.Second,
		MaxIdleConns:        2,
		IdleConnTimeout:     time.Minute,
	},
}

// metadataCredentials asks for web identity, container or EC2 instance
// credentials. Only the EC2 metadata service (at
// AWS_EC2_METADATA_SERVICE_ENDPOINT, else its link-local address) is
// probed without being configured; when it does not answer, the requests
// are anonymous.
func metadataCredentials(ctx context.Context) (*credentials.Credentials, string, error) {
	configured := ""
	for _, v := range []string{"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"} {
		if os.Getenv(v) != "" {
			configured = v
			break
		}
	}
	if configured == "" && strings.EqualFold(os.Getenv("AWS_EC2_METADATA_DISABLED"), "true") {
		return nil, "", nil
	}
	p := &credentials.IAM{Client: metadataClient}
	if configured == "" {
		p.Endpoint = os.Getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT")
	}
	v, err := p.RetrieveWithCredContext(&credentials.CredContext{Client: metadataClient, Context: ctx})
	if err == nil && v.AccessKeyID != "" && v.SecretAccessKey != "" {
		if configured != "" {
			return credentials.New(p), "credentials from " + configured, nil
		}
		return credentials.New(p), "instance metadata credentials", nil
	}
	if configured != "" {
		if err == nil {
			err = errors.New("no access key in the answer")
		}
		return nil, "", fmt.Errorf("s3scan: credentials from %s: %v", configured, err)
	}
	return nil, "", nil
}
