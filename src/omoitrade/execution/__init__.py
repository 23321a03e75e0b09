"""Order management: the order's path from request to venue and back, durable and exact."""
