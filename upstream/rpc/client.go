package rpc

import (
	"fmt"
	"net"
	"time"

	"github.com/cloudwego/kitex/client"
	"github.com/cloudwego/kitex/pkg/kerrors"
	"github.com/cloudwego/kitex/pkg/rpcinfo"
	"github.com/cloudwego/kitex/pkg/serviceinfo"
	"github.com/cloudwego/kitex/pkg/transmeta"
	"github.com/cloudwego/kitex/transport"
)

// Client timeouts applied when the constructors get a zero timeout.
const (
	// DefaultTimeout bounds one call, connecting included. A context deadline
	// that comes sooner wins.
	DefaultTimeout = 3 * time.Second
	// maxConnectTimeout caps the time to open a TCP connection: a dead address
	// should fail fast rather than eat the whole call timeout. When a
	// connection cannot be made, Kitex itself picks an address again (round
	// robin, up to 6 tries within the call timeout), so with several addresses
	// a dead one costs a failed dial, not a failed call.
	maxConnectTimeout = time.Second
)

// kitexClient is what Kitex's client.NewClient returns; Close is on the
// concrete type only.
type kitexClient interface {
	client.Client
	Close() error
}

// newKitexClient builds a Kitex client of one service for addrs. service names
// the peer in errors ("logic", "gateway push", "push api").
func newKitexClient(service string, info *serviceinfo.ServiceInfo, addrs []string, timeout time.Duration) (kitexClient, error) {
	if len(addrs) == 0 {
		return nil, fmt.Errorf("rpc: %s client: no server address given", service)
	}
	for _, a := range addrs {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return nil, fmt.Errorf("rpc: %s client: server address %q: %w", service, a, err)
		}
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	opts := []client.Option{
		client.WithHostPorts(addrs...),
		client.WithDestService("barrage-" + service),
		client.WithClientBasicInfo(&rpcinfo.EndpointBasicInfo{ServiceName: "barrage"}),
		// TTHeader carries the service name, which a server hosting several
		// services (logic: LogicService and PushAPI) routes by.
		client.WithTransportProtocol(transport.TTHeaderFramed),
		client.WithMetaHandler(transmeta.ClientTTHeaderHandler), // carries remote failures, see remoteError
		client.WithRPCTimeout(timeout),
		client.WithConnectTimeout(min(timeout, maxConnectTimeout)),
	}
	c, err := client.NewClient(info, opts...)
	if err != nil {
		return nil, fmt.Errorf("rpc: %s client for %v: %w", service, addrs, err)
	}
	kc, ok := c.(kitexClient)
	if !ok { // only reachable if Kitex changes its client type
		return nil, fmt.Errorf("rpc: %s client: Kitex client %T has no Close method", service, c)
	}
	return kc, nil
}

// callError wraps a failed call so the error names the service and method. A
// failure the server reported (a biz status error) becomes *RemoteError.
func callError(service, method string, err error) error {
	if be, ok := kerrors.FromBizStatusError(err); ok {
		err = &RemoteError{Code: be.BizStatusCode(), Message: be.BizMessage()}
	}
	return fmt.Errorf("rpc: %s %s: %w", service, method, err)
}
