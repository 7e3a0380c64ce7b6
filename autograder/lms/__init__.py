"""Getting grades into the course's LMS: Canvas (CSV and API) and LTI 1.3 AGS."""
