"""The Textual app: screens and widgets. Nothing below this layer imports it."""
