package server

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/ctimport/ctimport/api"
)

// DefaultMaxConcurrentRequests is how many API requests a server serves at
// once unless its Config says otherwise.
const DefaultMaxConcurrentRequests = 8

// retryAfterSeconds is how long a throttled client is asked to wait.
const retryAfterSeconds = 1

// unbounded are the operations that the bounds do not count: they read
// query results the server holds in memory, and a client whose polls were
// throttled could find its query forgotten for newer ones by the time it
// polls again.
var unbounded = map[string]bool{"DescribeQuery": true, "GetQueryResults": true}

// limiter sheds the API requests beyond a server's bounds: the requests
// served at once and, when perSecond is positive, the requests served a
// second, with bursts of up to perSecond.
type limiter struct {
	slots     chan struct{}
	perSecond int
	now       func() time.Time

	mu     sync.Mutex
	tokens float64
	last   time.Time
}

func newLimiter(concurrent, perSecond int, now func() time.Time) *limiter {
	return &limiter{slots: make(chan struct{}, concurrent), perSecond: perSecond, now: now, tokens: float64(perSecond), last: now()}
}

// admit admits a request of operation op and returns the function that
// ends it, or returns the ThrottlingException that sheds it.
func (l *limiter) admit(op string) (done func(), err error) {
	if unbounded[op] {
		return func() {}, nil
	}
	select {
	case l.slots <- struct{}{}:
	default:
		return nil, api.ErrThrottling.New("the server serves at most %d requests at once; retry after %d s", cap(l.slots), retryAfterSeconds)
	}
	if !l.token() {
		<-l.slots
		return nil, api.ErrThrottling.New("the server serves at most %d requests a second; retry after %d s", l.perSecond, retryAfterSeconds)
	}
	return func() { <-l.slots }, nil
}

// token takes a token of the requests a second, and reports whether there
// was one; without that bound, there always is.
func (l *limiter) token() bool {
	if l.perSecond <= 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.tokens = min(float64(l.perSecond), l.tokens+max(now.Sub(l.last), 0).Seconds()*float64(l.perSecond))
	l.last = now
	if l.tokens < 1 {
		return false
	}
	l.tokens--
	return true
}

// throttle answers a request that err shed.
func (s *Server) throttle(w http.ResponseWriter, c *call, err error) {
	w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
	s.fail(w, c, http.StatusBadRequest, err)
}
