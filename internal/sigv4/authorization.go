package sigv4

import (
	"strings"
	"time"
)

// authorization is a parsed Authorization header.
type authorization struct {
	accessKeyID   string
	date          string // of the credential scope, YYYYMMDD
	region        string
	service       string
	signedHeaders []string
	signature     string
}

// parseAuthorization parses an Authorization header of the form
//
//	AWS4-HMAC-SHA256 Credential=AKID/YYYYMMDD/region/service/aws4_request, SignedHeaders=a;b;c, Signature=hex
//
// with its three parts in any order. Its errors do not repeat the header.
func parseAuthorization(header string) (*authorization, *Error) {
	alg, rest, _ := strings.Cut(strings.TrimSpace(header), " ")
	if alg != algorithm {
		return nil, incomplete("Authorization header must use the " + algorithm + " algorithm.")
	}
	var credential, signedHeaders, signature string
	for part := range strings.SplitSeq(rest, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, value, _ := strings.Cut(part, "=")
		var dst *string
		switch name {
		case "Credential":
			dst = &credential
		case "SignedHeaders":
			dst = &signedHeaders
		case "Signature":
			dst = &signature
		default:
			return nil, incomplete("Authorization header must have only the parts Credential=, SignedHeaders= and Signature=, separated by commas.")
		}
		if *dst != "" {
			return nil, incomplete("Authorization header has " + name + "= more than once.")
		}
		if value == "" {
			return nil, incomplete("Authorization header has an empty " + name + "=.")
		}
		*dst = value
	}
	var missing []string
	for _, p := range []struct{ name, value string }{
		{"Credential", credential}, {"Signature", signature}, {"SignedHeaders", signedHeaders},
	} {
		if p.value == "" {
			missing = append(missing, "Authorization header requires '"+p.name+"' parameter.")
		}
	}
	if missing != nil {
		return nil, incomplete(strings.Join(missing, " "))
	}

	a := &authorization{signature: signature}
	scope := strings.Split(credential, "/")
	if len(scope) != 5 || scope[0] == "" || scope[2] == "" || scope[3] == "" {
		return nil, incomplete("Credential must have the form ACCESS_KEY_ID/YYYYMMDD/REGION/SERVICE/aws4_request.")
	}
	if _, err := time.Parse(scopeDateFormat, scope[1]); err != nil {
		return nil, incomplete("Credential must be scoped to a date of the form YYYYMMDD.")
	}
	if scope[4] != terminator {
		return nil, incomplete("Credential should be scoped with a valid terminator: '" + terminator + "'.")
	}
	a.accessKeyID, a.date, a.region, a.service = scope[0], scope[1], scope[2], scope[3]

	a.signedHeaders = strings.Split(signedHeaders, ";")
	host := false
	for _, h := range a.signedHeaders {
		if h == "" || strings.IndexFunc(h, notLowerToken) >= 0 {
			return nil, incomplete("SignedHeaders must be lowercase header names separated by ';'.")
		}
		host = host || h == "host"
	}
	if !host {
		return nil, incomplete("SignedHeaders must include host.")
	}

	if len(signature) != 64 || strings.IndexFunc(signature, notLowerHex) >= 0 {
		return nil, incomplete("Signature must be 64 lowercase hexadecimal digits.")
	}
	return a, nil
}

// notLowerToken reports whether c may not be in a lowercase header name.
func notLowerToken(c rune) bool {
	return !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", c))
}

func notLowerHex(c rune) bool {
	return !('0' <= c && c <= '9' || 'a' <= c && c <= 'f')
}
