// Package client is a client of a ctimport server: an api.Service that
// calls the server's operations over HTTP with AWS JSON 1.1 requests signed
// with Signature Version 4, and returns the API's types and exceptions.
package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/internal/awsjson"
	"github.com/ctimport/ctimport/internal/sigv4"
)

const (
	targetPrefix = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."
	service      = "cloudtrail"
	// maxResponse bounds the size of a response body.
	maxResponse = 256 << 20
)

// ErrEndpoint is wrapped by errors reaching the server, or understanding its
// answer, as opposed to exceptions the server returned.
var ErrEndpoint = errors.New("client: endpoint")

// Client is the api.Service of a ctimport server: each of its methods calls
// the server's operation of the same name. Its methods are safe for
// concurrent use.
type Client struct {
	endpoint string
	key      sigv4.Key
	region   string
	http     *http.Client
}

// New returns a Client of the server at endpoint (http or https URL) that
// signs its requests with key for region ("us-east-1" when empty).
func New(endpoint string, key sigv4.Key, region string) (*Client, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("client: endpoint %q is not an http:// or https:// URL", endpoint)
	}
	if key.AccessKeyID == "" || key.SecretAccessKey == "" {
		return nil, errors.New("client: an access key ID and a secret access key are needed to sign requests")
	}
	if region == "" {
		region = "us-east-1"
	}
	u.Path, u.RawQuery, u.Fragment = "/", "", ""
	return &Client{endpoint: u.String(), key: key, region: region, http: &http.Client{Timeout: 5 * time.Minute}}, nil
}

var _ api.Service = (*Client)(nil)

// throttleAttempts is how often call sends a request that the server
// answers ThrottlingException, and maxRetryWait the longest it waits
// between two attempts.
const (
	throttleAttempts = 5
	maxRetryWait     = 5 * time.Second
)

// call runs operation op of c with input in and returns its response. A
// request the server sheds with ThrottlingException is sent again, up to
// throttleAttempts times, after the wait its Retry-After header asks for,
// else after a wait doubling from 250 ms. An exception returned by the
// server is an *api.Exception; any other error wraps ErrEndpoint or is one
// of encoding the request.
func call[Out any](ctx context.Context, c *Client, op string, in any) (Out, error) {
	var out Out
	body, err := awsjson.Marshal(in)
	if err != nil {
		return out, fmt.Errorf("client: %s: %w", op, err)
	}
	for attempt := 1; ; attempt++ {
		b, wait, err := c.send(ctx, op, body, attempt)
		if wait == 0 || attempt == throttleAttempts {
			if err != nil {
				return out, err
			}
			if err := awsjson.Unmarshal(b, &out); err != nil {
				return out, fmt.Errorf("%w: %s: %w", ErrEndpoint, op, err)
			}
			return out, nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return out, fmt.Errorf("client: %s: %w", op, ctx.Err())
		case <-t.C:
		}
	}
}

// send sends one signed request of operation op with body, the attempt-th,
// and returns the response's body, or its error. When the server shed the
// request, wait is how long to wait before the next attempt.
func (c *Client) send(ctx context.Context, op string, body []byte, attempt int) (b []byte, wait time.Duration, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, 0, fmt.Errorf("client: %s: %w", op, err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", targetPrefix+op)
	if err := sigv4.Sign(req, body, c.key, c.region, service, time.Now()); err != nil {
		return nil, 0, fmt.Errorf("client: %s: %w", op, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %s: %w", ErrEndpoint, op, err)
	}
	defer resp.Body.Close()
	b, err = io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %s: reading the response: %w", ErrEndpoint, op, err)
	}
	if resp.StatusCode == http.StatusOK {
		return b, 0, nil
	}
	err = responseError(op, resp, b)
	if !errors.Is(err, api.ErrThrottling) {
		return nil, 0, err
	}
	wait = (250 * time.Millisecond) << (attempt - 1)
	if s, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && s >= 0 {
		wait = time.Duration(s) * time.Second
	}
	return nil, min(max(wait, time.Millisecond), maxRetryWait), err
}

// responseError returns the exception an error response carries.
func responseError(op string, resp *http.Response, body []byte) error {
	var e struct {
		Type     string `json:"__type"`
		Message  string `json:"message"`
		MessageC string `json:"Message"`
	}
	if awsjson.Unmarshal(body, &e) != nil || e.Type == "" {
		e.Type = resp.Header.Get("X-Amzn-ErrorType")
	}
	if e.Type == "" {
		return fmt.Errorf("%w: %s: HTTP %s: %.200s", ErrEndpoint, op, resp.Status, strings.TrimSpace(string(body)))
	}
	// The type may be qualified by a namespace, or followed by details.
	name := e.Type[strings.LastIndex(e.Type, "#")+1:]
	name, _, _ = strings.Cut(name, ":")
	msg := e.Message
	if msg == "" {
		msg = e.MessageC
	}
	return &api.Exception{Name: name, Message: msg}
}

// StartImport calls the server's StartImport.
func (c *Client) StartImport(ctx context.Context, in api.StartImportInput) (api.Import, error) {
	return call[api.Import](ctx, c, "StartImport", in)
}

// GetImport calls the server's GetImport.
func (c *Client) GetImport(ctx context.Context, in api.GetImportInput) (api.Import, error) {
	return call[api.Import](ctx, c, "GetImport", in)
}

// StopImport calls the server's StopImport.
func (c *Client) StopImport(ctx context.Context, in api.StopImportInput) (api.Import, error) {
	return call[api.Import](ctx, c, "StopImport", in)
}

// ListQueries calls the server's ListQueries.
func (c *Client) ListQueries(ctx context.Context, in api.ListQueriesInput) (api.ListQueriesOutput, error) {
	return call[api.ListQueriesOutput](ctx, c, "ListQueries", in)
}

// ListImports calls the server's ListImports.
func (c *Client) ListImports(ctx context.Context, in api.ListImportsInput) (api.ListImportsOutput, error) {
	return call[api.ListImportsOutput](ctx, c, "ListImports", in)
}

// ListImportFailures calls the server's ListImportFailures.
func (c *Client) ListImportFailures(ctx context.Context, in api.ListImportFailuresInput) (api.ListImportFailuresOutput, error) {
	return call[api.ListImportFailuresOutput](ctx, c, "ListImportFailures", in)
}

// CreateEventDataStore calls the server's CreateEventDataStore.
func (c *Client) CreateEventDataStore(ctx context.Context, in api.CreateEventDataStoreInput) (api.EventDataStore, error) {
	return call[api.EventDataStore](ctx, c, "CreateEventDataStore", in)
}

// GetEventDataStore calls the server's GetEventDataStore.
func (c *Client) GetEventDataStore(ctx context.Context, in api.GetEventDataStoreInput) (api.EventDataStore, error) {
	return call[api.EventDataStore](ctx, c, "GetEventDataStore", in)
}

// ListEventDataStores calls the server's ListEventDataStores.
func (c *Client) ListEventDataStores(ctx context.Context, in api.ListEventDataStoresInput) (api.ListEventDataStoresOutput, error) {
	return call[api.ListEventDataStoresOutput](ctx, c, "ListEventDataStores", in)
}

// UpdateEventDataStore calls the server's UpdateEventDataStore.
func (c *Client) UpdateEventDataStore(ctx context.Context, in api.UpdateEventDataStoreInput) (api.EventDataStore, error) {
	return call[api.EventDataStore](ctx, c, "UpdateEventDataStore", in)
}

// DeleteEventDataStore calls the server's DeleteEventDataStore.
func (c *Client) DeleteEventDataStore(ctx context.Context, in api.DeleteEventDataStoreInput) (api.DeleteEventDataStoreOutput, error) {
	return call[api.DeleteEventDataStoreOutput](ctx, c, "DeleteEventDataStore", in)
}

// RestoreEventDataStore calls the server's RestoreEventDataStore.
func (c *Client) RestoreEventDataStore(ctx context.Context, in api.RestoreEventDataStoreInput) (api.EventDataStore, error) {
	return call[api.EventDataStore](ctx, c, "RestoreEventDataStore", in)
}

// StartQuery calls the server's StartQuery.
func (c *Client) StartQuery(ctx context.Context, in api.StartQueryInput) (api.StartQueryOutput, error) {
	return call[api.StartQueryOutput](ctx, c, "StartQuery", in)
}

// DescribeQuery calls the server's DescribeQuery.
func (c *Client) DescribeQuery(ctx context.Context, in api.DescribeQueryInput) (api.DescribeQueryOutput, error) {
	return call[api.DescribeQueryOutput](ctx, c, "DescribeQuery", in)
}

// GetQueryResults calls the server's GetQueryResults.
func (c *Client) GetQueryResults(ctx context.Context, in api.GetQueryResultsInput) (api.GetQueryResultsOutput, error) {
	return call[api.GetQueryResultsOutput](ctx, c, "GetQueryResults", in)
}

// CancelQuery calls the server's CancelQuery.
func (c *Client) CancelQuery(ctx context.Context, in api.CancelQueryInput) (api.CancelQueryOutput, error) {
	return call[api.CancelQueryOutput](ctx, c, "CancelQuery", in)
}
