"""The agent's HTTP+JSON API: on the local unix socket (root only) and on TCP 2377 (mutual
TLS). Routes are declared once, with their summary and who may call them; the OpenAPI
document that the daemon serves is made from the same table."""
