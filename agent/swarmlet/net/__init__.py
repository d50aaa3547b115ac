"""The node side of overlay networks: per-network bridge + VXLAN devices programmed from the
assignments, and a Docker network driver (libnetwork's remote protocol) that attaches task
containers before their process starts. See docs/networking.md, "On each host"."""
