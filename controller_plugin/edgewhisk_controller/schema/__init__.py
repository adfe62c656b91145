"""Wire formats of the controller, one module per format.

``activation`` builds OpenWhisk activation records (the only code that does); ``entity`` and
``action`` validate the entities the REST API accepts. Every shape follows upstream Apache
OpenWhisk so that ``wsk``, the JavaScript client and Composer read our answers unmodified.
"""
