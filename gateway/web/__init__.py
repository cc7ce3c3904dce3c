"""The telecom's "Going abroad?" customer page, as a partner embeds it: static HTML, CSS and
JavaScript (`static/`) that talk to the gateway through Envoy with a customer-session token,
and the partner's small backend that serves them and mints that token (RFC 8693). See
docs/front-ends.md.
"""

from gateway.web._backend import STATIC_DIR, CustomerPage, customer_context, customer_page_app
from gateway.web._demo import DEMO_PAGE_ADDRESS, DemoPage, demo_customer_page
from gateway.web._serve import serving_customer_page

__all__ = [
    "DEMO_PAGE_ADDRESS",
    "STATIC_DIR",
    "CustomerPage",
    "DemoPage",
    "customer_context",
    "customer_page_app",
    "demo_customer_page",
    "serving_customer_page",
]
