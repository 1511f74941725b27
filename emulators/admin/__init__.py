"""The control plane: ``/__admin/`` routes, its client and the inspector page (``ui/``)."""
