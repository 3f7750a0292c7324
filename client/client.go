// Package client is a client of a ctimport server: it calls the CloudTrail
// import and query operations over HTTP with AWS JSON 1.1 requests signed
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

// Client calls a ctimport server. Its methods are safe for concurrent use.
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

// call runs operation op with input in and decodes its response into out.
// An exception returned by the server is an *api.Exception.
func (c *Client) call(ctx context.Context, op string, in, out any) error {
	body, err := awsjson.Marshal(in)
	if err != nil {
		return fmt.Errorf("client: %s: %w", op, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("client: %s: %w", op, err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", targetPrefix+op)
	if err := sigv4.Sign(req, body, c.key, c.region, service, time.Now()); err != nil {
		return fmt.Errorf("client: %s: %w", op, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrEndpoint, op, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return fmt.Errorf("%w: %s: reading the response: %w", ErrEndpoint, op, err)
	}
	if resp.StatusCode != http.StatusOK {
		return responseError(op, resp, b)
	}
	if err := awsjson.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrEndpoint, op, err)
	}
	return nil
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

// StartImport starts a new import, or retries one given only its ImportId.
func (c *Client) StartImport(ctx context.Context, in api.StartImportInput) (api.Import, error) {
	var out api.Import
	return out, c.call(ctx, "StartImport", in, &out)
}

// importID is the request of GetImport and StopImport.
type importID struct {
	ImportId string `json:"ImportId"`
}

// GetImport describes an import, with its statistics.
func (c *Client) GetImport(ctx context.Context, id string) (api.Import, error) {
	var out api.Import
	return out, c.call(ctx, "GetImport", importID{id}, &out)
}

// StopImport stops an import.
func (c *Client) StopImport(ctx context.Context, id string) (api.Import, error) {
	var out api.Import
	return out, c.call(ctx, "StopImport", importID{id}, &out)
}

// ListImports lists imports.
func (c *Client) ListImports(ctx context.Context, in api.ListImportsInput) (api.ListImportsOutput, error) {
	var out api.ListImportsOutput
	return out, c.call(ctx, "ListImports", in, &out)
}

// ListImportFailures lists the files of an import that failed.
func (c *Client) ListImportFailures(ctx context.Context, in api.ListImportFailuresInput) (api.ListImportFailuresOutput, error) {
	var out api.ListImportFailuresOutput
	return out, c.call(ctx, "ListImportFailures", in, &out)
}

// CreateEventDataStore creates an event data store.
func (c *Client) CreateEventDataStore(ctx context.Context, in api.CreateEventDataStoreInput) (api.EventDataStore, error) {
	var out api.EventDataStore
	return out, c.call(ctx, "CreateEventDataStore", in, &out)
}

// GetEventDataStore describes an event data store.
func (c *Client) GetEventDataStore(ctx context.Context, in api.GetEventDataStoreInput) (api.EventDataStore, error) {
	var out api.EventDataStore
	return out, c.call(ctx, "GetEventDataStore", in, &out)
}

// ListEventDataStores lists the event data stores.
func (c *Client) ListEventDataStores(ctx context.Context, in api.ListEventDataStoresInput) (api.ListEventDataStoresOutput, error) {
	var out api.ListEventDataStoresOutput
	return out, c.call(ctx, "ListEventDataStores", in, &out)
}

// StartQuery starts a query.
func (c *Client) StartQuery(ctx context.Context, in api.StartQueryInput) (api.StartQueryOutput, error) {
	var out api.StartQueryOutput
	return out, c.call(ctx, "StartQuery", in, &out)
}

// DescribeQuery describes a query.
func (c *Client) DescribeQuery(ctx context.Context, in api.DescribeQueryInput) (api.DescribeQueryOutput, error) {
	var out api.DescribeQueryOutput
	return out, c.call(ctx, "DescribeQuery", in, &out)
}

// GetQueryResults returns a page of a query's results.
func (c *Client) GetQueryResults(ctx context.Context, in api.GetQueryResultsInput) (api.GetQueryResultsOutput, error) {
	var out api.GetQueryResultsOutput
	return out, c.call(ctx, "GetQueryResults", in, &out)
}

// CancelQuery cancels a query.
func (c *Client) CancelQuery(ctx context.Context, in api.CancelQueryInput) (api.CancelQueryOutput, error) {
	var out api.CancelQueryOutput
	return out, c.call(ctx, "CancelQuery", in, &out)
}
