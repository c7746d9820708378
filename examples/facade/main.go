// Command facade shows a Go application embedding scimd with its own
// storage: memStore implements scimd.Store over the application's data (here
// plain maps), and scimhttp serves SCIM 2.0 on top of it — the "SCIM facade"
// of Okta's integration guide. Okta or Entra ID then provision straight into
// the application, with no second copy of its users.
//
// Run it with the bearer token the IdP will send:
//
//	SCIM_TOKEN=s3cret go run ./examples/facade -addr 127.0.0.1:8080
//	curl -H 'Authorization: Bearer s3cret' http://127.0.0.1:8080/scim/v2/Users
//
// In Okta or Entra, enter http(s)://<host>/scim/v2 as the base URL and the
// token as the API token / secret token.
package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/schema"
	"github.com/scimd/scimd/scimhttp"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, "facade:", err)
		os.Exit(1)
	}
}

// run starts the application on the address given by -addr and serves until
// ctx is done. If ready is not nil, it receives the listening address.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, ready chan<- string) error {
	fs := flag.NewFlagSet("facade", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	token := getenv("SCIM_TOKEN")
	if token == "" {
		token = rand.Text()
		fmt.Fprintf(stdout, "SCIM_TOKEN not set; using generated token %s\n", token)
	}

	// The application's own storage, seen by scimd through scimd.Store.
	reg := schema.DefaultRegistry()
	store := newMemStore(reg)

	logger := slog.New(slog.NewTextHandler(stdout, nil))
	h, err := newHandler(store, reg, token, logger)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle(scimhttp.DefaultBasePath+"/", h)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		// The application's own pages read the same store.
		res, err := store.List(r.Context(), scimd.DefaultTenant, &scimd.ListQuery{Type: scimd.TypeUser})
		if err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "facade example: %d users provisioned; SCIM base URL is %s\n", res.TotalResults, scimhttp.DefaultBasePath)
	})

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "SCIM base URL: http://%s%s\n", ln.Addr(), scimhttp.DefaultBasePath)
	if ready != nil {
		ready <- ln.Addr().String()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// newHandler returns the SCIM handler over store, accepting one bearer
// token for the single tenant scimd.DefaultTenant. An application serving
// several IdP orgs would map each token to its own tenant id.
func newHandler(store scimd.Store, reg *schema.Registry, token string, logger *slog.Logger) (*scimhttp.Handler, error) {
	auth := scimhttp.AuthenticatorFunc(func(r *http.Request) (string, error) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			return "", scimd.Errorf(http.StatusUnauthorized, "", "missing or invalid bearer token")
		}
		return scimd.DefaultTenant, nil
	})
	return scimhttp.New(scimhttp.Config{
		Store:    store,
		Registry: reg,
		Auth:     auth,
		Logger:   logger,
	})
}
