"""Request bodies (commands) and responses (``*Public``) of the HTTP API.

One module per router (``schemas.leads`` for ``routes.leads``...), and ``common``
for what they share: decimal, text and date fields, the ``Command`` and ``Out``
bases, ``CommandPublic`` and ``ErrorPublic``. Limits that the domain also checks
(text lengths, line counts, the payment-terms default) are imported from the
domain, never copied.
"""
