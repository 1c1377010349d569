"""The Streamlit side of the dashboard: page builder, figures, presets and URL state."""
