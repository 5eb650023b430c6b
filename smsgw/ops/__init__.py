"""Operations: Prometheus metrics, the health and metrics HTTP endpoints, the e-mail sender."""
