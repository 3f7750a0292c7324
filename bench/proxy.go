package bench

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"time"
)

// delayProxy is a reverse proxy on 127.0.0.1 in front of an S3 endpoint
// that holds every request for a delay before passing it on, as the
// round trip to a distant S3 would. It keeps the Host header of each
// request, which the request's signature covers.
type delayProxy struct {
	srv      *http.Server
	url      string
	requests atomic.Int64
}

func startDelayProxy(target string, delay time.Duration) (*delayProxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("bench: proxy target: %w", err)
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			r.Out.Host = r.In.Host
		},
		Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("bench: proxy: %w", err)
	}
	p := &delayProxy{url: "http://" + ln.Addr().String()}
	p.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.requests.Add(1)
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
			rp.ServeHTTP(w, r)
		case <-r.Context().Done():
		}
	})}
	go p.srv.Serve(ln)
	return p, nil
}

// Close stops the proxy.
func (p *delayProxy) Close() error { return p.srv.Close() }
