"""Identity primitives: password hashing, token generation, the role/permission matrix."""
