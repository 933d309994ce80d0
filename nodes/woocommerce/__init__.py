"""WooCommerce nodes: a store's orders through the WooCommerce REST API v3 (``httpx``)."""
