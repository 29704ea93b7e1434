// The Go peer of the bench: what LGTM Auth Proxy, lfgw and prometheus-multi-tenant-proxy are built on,
// net/http/httputil.ReverseProxy, with a static token map and the tenant header. Standard library only.
//
//	go build -o /tmp/go-peer ./bench/go-peer
//	SCOPEGATE_TOKENS='{"token":{"tenant":"t"}}' /tmp/go-peer -upstream http://127.0.0.1:9090
//
// Prints its port as the first stdout line (like bench/upstream.ts); exits when stdin closes.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
)

type identity struct {
	Tenant string `json:"tenant"`
}

func main() {
	upstream := flag.String("upstream", "", "upstream origin, e.g. http://127.0.0.1:9090")
	listen := flag.String("listen", "127.0.0.1:0", "listen address")
	flag.Parse()
	target, err := url.Parse(*upstream)
	if err != nil || target.Host == "" {
		log.Fatalf("-upstream: %q is not an origin", *upstream)
	}
	tokens := map[string]identity{}
	if err := json.Unmarshal([]byte(os.Getenv("SCOPEGATE_TOKENS")), &tokens); err != nil {
		log.Fatalf("SCOPEGATE_TOKENS: %v", err)
	}

	proxy := httputil.NewSingleHostReverseProxy(target)
	// As the Go proxies ship: the default transport, with enough idle connections for the bench's load.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 256
	proxy.Transport = transport

	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
		if !ok {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		r.Header.Del("Authorization")
		r.Header.Set("X-Scope-OrgID", id.Tenant)
		proxy.ServeHTTP(w, r)
	})

	listener, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(listener.Addr().(*net.TCPAddr).Port)
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	log.Fatal(http.Serve(listener, handler))
}
