# LocalStack's own ceiling for draining (receive 10 + DeleteMessageBatch) with boto3 and 8
# threads, for comparison with bench/puller/run.sh. Run: scripts/localstack python bench/puller/localstack_drain_ceiling.py
import boto3, time, threading
mk=lambda: boto3.client("sqs", endpoint_url="http://127.0.0.1:4566", region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
c=mk(); q=c.create_queue(QueueName="botodrain")["QueueUrl"]; c.purge_queue(QueueUrl=q); time.sleep(1)
body='{"job_id":"j","execution_id":"e","hostname":"edge-us-1","job_submission_time":1,"icon_name":"x","timestamp":"2025-03-26T12:34:56Z","color":"#FF0000","sequence":1,"region":"us"}'
def fill(n):
    cl=mk()
    for i in range(n): cl.send_message_batch(QueueUrl=q, Entries=[{"Id":str(j),"MessageBody":body} for j in range(10)])
ts=[threading.Thread(target=fill,args=(250,)) for _ in range(4)]; [t.start() for t in ts]; [t.join() for t in ts]
got=[0]; lock=threading.Lock()
def drain():
    cl=mk()
    while True:
        m=cl.receive_message(QueueUrl=q, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages",[])
        if not m: return
        cl.delete_message_batch(QueueUrl=q, Entries=[{"Id":str(i),"ReceiptHandle":x["ReceiptHandle"]} for i,x in enumerate(m)])
        with lock: got[0]+=len(m)
t=time.time(); ts=[threading.Thread(target=drain) for _ in range(8)]; [x.start() for x in ts]; [x.join() for x in ts]
dt=time.time()-t-1; print(f"boto3 8 threads receive+delete_batch: {got[0]} in {dt:.1f}s = {got[0]/dt:.0f}/s")
