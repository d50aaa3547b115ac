"""The cluster's certificate authority: root CA, node certificates, join tokens and TLS.

SwarmKit's `ca/` package in spirit: a joining node checks the CA digest in its join token,
then gets a certificate whose subject says who it is (CN node ID, OU role, O cluster ID).
"""
