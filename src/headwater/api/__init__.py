"""The HTTP API: routes, header/auth checks, the error envelope, list machinery and JSON Patch."""
