"""The allocator (SwarmKit's manager/allocator): overlay subnets and addresses (IPAM),
service endpoints (VIPs, published ports), as a stage of the leader's pass."""
