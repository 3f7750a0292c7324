package duckdbsink

// ExampleQuery is a query of CloudTrail Lake's documentation; the
// placeholder event_data_store_ID in its statement stands for the ID of an
// event data store.
type ExampleQuery struct {
	Name      string
	Statement string
}

// ExampleQueries are the example queries of CloudTrail Lake's
// documentation, as written there but for the values they look for, which
// the store answers as Lake does (TestLakeExampleQueries checks each answer
// against the events). The web console offers them to start from.
var ExampleQueries = []ExampleQuery{
	{
		Name: "Principals who called CreateBucket on a day",
		Statement: `SELECT 
    userIdentity.principalid, 
    eventName 
FROM 
    event_data_store_ID
WHERE 
    userIdentity.principalid IS NOT NULL 
AND 
    eventTime > '2023-07-10 00:00:00' 
AND 
    eventTime < '2023-07-11 00:00:00' 
AND 
    eventName='CreateBucket'`,
	},
	{
		Name: "APIs a user called on a day",
		Statement: `SELECT 
    eventID, 
    eventName, 
    eventSource, 
    eventTime
FROM 
    event_data_store_ID
WHERE 
    userIdentity.username = 'benjamin' 
AND 
    eventTime > '2023-07-10 00:00:00' 
AND 
    eventTime < '2023-07-11 00:00:00'`,
	},
	{
		Name: "API calls since a day by eventSource and eventName",
		Statement: `SELECT 
    eventSource, 
    eventName, 
    COUNT(*) AS apiCount
FROM 
    event_data_store_ID
WHERE 
    eventTime > '2023-01-01 00:00:00' 
GROUP BY 
    eventSource, eventName 
ORDER BY 
    apiCount DESC, eventSource, eventName`,
	},
	{
		Name: "Console sign-ins in a set of regions",
		Statement: `SELECT 
    eventTime, 
    useridentity.arn, 
    awsRegion
FROM 
    event_data_store_ID
WHERE 
    awsRegion in ('us-east-1', 'us-west-2') 
AND
    eventName = 'ConsoleLogin'`,
	},
	{
		Name: "Bucket names of S3 calls, with element_at",
		Statement: `SELECT element_at(requestParameters, 'bucketName'), eventName
FROM event_data_store_ID
WHERE eventSource = 's3.amazonaws.com' AND element_at(requestParameters, 'bucketName') IS NOT NULL`,
	},
	{
		Name: "Assumed roles by session issuer",
		Statement: `SELECT userIdentity.sessionContext.sessionIssuer.arn AS issuer, count(*) AS n
FROM event_data_store_ID
WHERE useridentity.type = 'AssumedRole'
GROUP BY 1`,
	},
}
