"""nbgrader configuration for the course's exercises.

Instructors: `nbgrader generate_assignment NAME`, collect into submitted/, `nbgrader autograde NAME`.
The assignments themselves (source notebooks in solutions/, released versions in exercises/)
are configured here as they are added.
"""
c = get_config()  # noqa: F821  (provided by nbgrader when it reads this file)

c.CourseDirectory.root = "."
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
# Training cells in the exercises can take minutes; nbgrader's default is 30 s per cell.
c.ExecutePreprocessor.timeout = 900
