"""The studio's pages (Reflex). Pages call services; they never query the database themselves."""
