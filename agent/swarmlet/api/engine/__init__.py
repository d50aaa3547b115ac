"""The Docker Engine API: Docker's paths, queries, shapes and errors over swarmlet's control
API, so the docker CLI, the docker SDK and community.docker drive a swarm unchanged; what is
not about the swarm goes to the node's own dockerd (proxy.py). docs/docker-api.md."""
