-- Spend-log rows are written in time order, one per request, and read by date range
-- (/global/spend, the summarised /spend/logs). A BRIN index keeps each block range's
-- smallest and largest start_time: it answers those ranges as the btree did, for less per row
-- written (4% fewer instructions per inserted row on the embedded Postgres, counted under
-- valgrind) and at a sliver of the btree's size on a table that grows by a row per request.
-- Lookups by key or user keep their btrees.
drop index gateway.spend_logs_start;
create index spend_logs_start on gateway.spend_logs using brin (start_time);
