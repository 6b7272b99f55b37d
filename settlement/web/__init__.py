"""Web pages for riders and finance staff (server-rendered, French and English)."""
