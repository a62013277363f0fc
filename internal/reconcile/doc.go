// Package reconcile is the only glue between translation and serving: when
// the mesh changes or a proxy connects, it decides which proxies are
// affected, translates each (irgen → xdsgen), and publishes the result to
// the xDS server. A translation that fails keeps the proxy's last good
// configuration and is reported; an unchanged result is not republished,
// so proxies untouched by a change see no push at all.
package reconcile
