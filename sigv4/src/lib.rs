//! AWS Signature Version 4 signing and a small SQS query-API client built on it.
