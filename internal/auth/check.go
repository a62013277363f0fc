package auth

import "net/http"

// Check authenticates (SigV4) and authorizes one request for op outside
// Wrap: for handlers that choose their operation after reading the body,
// such as CA enrolment (appmesh:StreamAggregatedResources on the node ARN
// a CSR names). body is the request body as read. A refusal is a
// *sigv4.Error carrying the AWS error code and HTTP status.
func (m *Middleware) Check(r *http.Request, op Operation, body []byte) (*Identity, error) {
	c := &call{}
	aerr := m.authenticate(r, op, body, c)
	if aerr == nil {
		ip, _ := peer(r)
		aerr = m.authorize(r, op, &c.id, body, ip)
	}
	var id *Identity
	if c.authed {
		id = &c.id
	}
	if aerr != nil {
		m.results.WithLabelValues(aerr.Code).Inc()
		return id, aerr
	}
	m.ok.Inc()
	return id, nil
}
