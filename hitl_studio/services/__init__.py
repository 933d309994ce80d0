"""The only code that touches the database and the queue; pages, routes and jobs call it."""
