"""OWASP API Security Top 10 (2023) against this API: one module per item (SECURITY-CHECKLIST section 1).

Routes come from the published OpenAPI schema, so a new route is tested (or makes a test fail until it has a
policy) without anyone remembering it. Every answer any test here receives is grepped by `leak_guard` for stored
secrets (password hashes, device key hashes, pairing-code hashes, calendar token digests) and for what a test
forbids its caller to see (another person's e-mail address and ids).
"""
