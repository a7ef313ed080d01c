"""User namespaces: subordinate ID pools, non-overlapping ranges per tenant, and forms."""
