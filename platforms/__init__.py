"""One REST client per platform over the shared HTTP layer (http.py), with the same verbs everywhere."""
