"""The application: the composition root of yuqing.

It is the only package that knows every part. ``app.settings`` combines the core's sections with
each stage's section; ``app.cli`` is the ``yuqing`` command (it loads each stage's command group
only when that command runs); ``app.run`` starts every stage for ``yuqing run``; ``app.demo`` and
``app.doctor`` are ``yuqing demo`` and ``yuqing doctor``. Nothing below imports ``app``.
"""
