"""AWS nodes: S3 (and S3-compatible stores), SQS, SNS and DynamoDB through boto3."""
