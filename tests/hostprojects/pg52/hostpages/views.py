from django.http import JsonResponse


def ping(request):
    return JsonResponse({"pong": True, "method": request.method})


def status(request):
    return JsonResponse({"users": "fine"}, status=200 if request.method == "GET" else 405)
