-- Lists of queries, newest first, by requester and status, by status
-- within components, and by case: each an index that reads only the rows
-- a page shows, in order, instead of sorting every match.
CREATE INDEX queries_person_status ON queries (person_id, status, created_at);
CREATE INDEX queries_status_component ON queries (status, component, created_at);
CREATE INDEX queries_case_number ON queries (case_number, created_at);
