// Package rediscache runs the caches of Azure Cache for Redis
// (Microsoft.Cache/redis) on this machine, so that the apps of Microsoft's
// Django tutorials (django-redis with AZURE_REDIS_CONNECTIONSTRING, redis-py
// with ssl=True) work unchanged against <cache>.redis.cache.windows.net:6380.
//
// Each cache is a real redis-server of its own, in the platform's sandbox
// (bubblewrap, as apps are), as a system user of its own, listening on no
// TCP port: only on a Unix socket in a directory only its user and root may
// enter. Clients reach it through one TLS proxy in the place of Azure's
// gateway (TLS is required, as Azure's non-TLS port is off by default): the
// cache is found by the TLS server name, the cache's firewall rules apply
// to the client's address, and the connection is joined to the cache's
// socket. The cache itself checks the access key (Redis ACLs: either of the
// two keys), and the commands Azure disables for tenants (CONFIG, MODULE,
// DEBUG, SAVE, REPLICAOF, ...) are not granted: with them a client could
// write files as the cache's user.
package rediscache

import "github.com/slipway-dev/slipway/internal/gateway"

// Suffix is the DNS suffix of Azure's caches: a cache named c answers at
// c.redis.cache.windows.net (its hostName), a name apps resolve to Slipway
// inside their sandboxes.
const Suffix = ".redis.cache.windows.net"

// Label is the zone of the caches under the platform's own domain:
// c.redis.<domain>, for clients outside the sandboxes.
const Label = "redis"

// SSLPort is the port clients use, as on Azure (sslPort).
const SSLPort = 6380

// FirewallRule is one allowed range of client IPv4 addresses, inclusive. A
// cache without rules admits every client, as Azure's does.
type FirewallRule = gateway.Range
