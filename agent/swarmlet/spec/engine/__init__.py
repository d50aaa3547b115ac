"""Typed models of the Docker Engine API's requests (api/engine/): its query parameters
and the bodies it takes in Docker's shapes before they become swarmlet's specs."""
