package engine

import (
	"encoding/base64"
	"encoding/json"

	"github.com/ctimport/ctimport/api"
)

// maxPage is the largest MaxResults the API allows.
const maxPage = 1000

// maxResults validates a MaxResults input; 0 means the largest page.
func maxResults(n int, exc *api.Exception) (int, error) {
	switch {
	case n == 0:
		return maxPage, nil
	case n < 1 || n > maxPage:
		return 0, exc.New("MaxResults must be between 1 and %d, not %d", maxPage, n)
	}
	return n, nil
}

// pageToken is what a NextToken carries: the key of the last item returned
// and a digest of the request's filters, so that a token is refused in a
// request with other filters.
type pageToken struct {
	After  string `json:"a"`
	Filter string `json:"f"`
}

func encodeToken(after, filter string) string {
	b, _ := json.Marshal(pageToken{After: after, Filter: filter})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(token, filter string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(token)
	var t pageToken
	if err == nil {
		err = json.Unmarshal(b, &t)
	}
	if err != nil || t.After == "" {
		return "", api.ErrInvalidNextToken.New("the pagination token is not one this service returned")
	}
	if t.Filter != filter {
		return "", api.ErrInvalidNextToken.New("the pagination token was returned for a request with other parameters")
	}
	return t.After, nil
}

// paginate returns the page of items after the one keyed by token, and the
// token of the next page ("" for the last page). key must be unique.
func paginate[T any](items []T, key func(T) string, token, filter string, max int) ([]T, string, error) {
	start := 0
	if token != "" {
		after, err := decodeToken(token, filter)
		if err != nil {
			return nil, "", err
		}
		start = -1
		for i, it := range items {
			if key(it) == after {
				start = i + 1
				break
			}
		}
		if start < 0 {
			return nil, "", api.ErrInvalidNextToken.New("the pagination token refers to an item that no longer exists")
		}
	}
	end := min(start+max, len(items))
	page := items[start:end]
	if end == len(items) {
		return page, "", nil
	}
	return page, encodeToken(key(items[end-1]), filter), nil
}
